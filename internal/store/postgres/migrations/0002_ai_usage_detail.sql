-- AI usage detail: the route, cached and reasoning tokens, how many
-- provider attempts it took, time to first token and in all, and whether
-- the answer was streamed and complete.
ALTER TABLE ai_usage ADD COLUMN route TEXT NOT NULL DEFAULT '';
ALTER TABLE ai_usage ADD COLUMN cached_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN reasoning_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE ai_usage ADD COLUMN first_token_ms DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN duration_ms DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN stream INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ai_usage ADD COLUMN code TEXT NOT NULL DEFAULT '';
CREATE INDEX ai_usage_provider_ts ON ai_usage (provider, ts);
