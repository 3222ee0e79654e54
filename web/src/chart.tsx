// A uPlot time-series chart that follows its container's width.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
  fill?: boolean;
  /** points marks every value: for series with gaps, where a lone value has no line. */
  points?: boolean;
}

const palette = ['#2563eb', '#dc2626', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];
export const color = (i: number) => palette[i % palette.length];

export function Chart({ title, times, series, unit, height = 180 }: {
  title: string;
  times: number[];
  series: Series[];
  unit?: string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join('|');
  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: s.fill ? s.color + '22' : undefined,
          points: s.points ? { show: true, size: 6, fill: s.color } : undefined,
          value: (_u: uPlot, v: number | null) => (v == null ? '–' : `${+v.toFixed(3)}${unit ? ' ' + unit : ''}`),
        })),
      ],
      axes: [{}, { size: 56, values: (_u: uPlot, vs: number[]) => vs.map((v) => `${+v.toFixed(2)}`) }],
      scales: { y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key, height, unit]);
  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [times, series]);
  return (
    <figure class="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  );
}
