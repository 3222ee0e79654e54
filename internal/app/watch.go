package app

import (
	"context"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchConfig reloads the config when its file changes, until ctx ends.
// It watches the file's directory, so editors that replace the file
// (write a temp file, rename it over) are seen too; bursts of events are
// debounced into one reload.
func (a *App) WatchConfig(ctx context.Context) error {
	if a.opts.ConfigPath == "" {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(a.opts.ConfigPath)
	if err != nil {
		w.Close()
		return err
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		w.Close()
		return err
	}
	go func() {
		defer w.Close()
		var timer *time.Timer
		fire := make(chan struct{}, 1)
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) != abs || ev.Op == fsnotify.Chmod {
					continue
				}
				if timer != nil {
					timer.Stop()
				}
				timer = time.AfterFunc(150*time.Millisecond, func() {
					select {
					case fire <- struct{}{}:
					default:
					}
				})
			case <-fire:
				a.log.Info("config file changed; reloading", "file", a.opts.ConfigPath)
				a.Reload()
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				a.log.Warn("config watcher", "error", err)
			}
		}
	}()
	return nil
}
