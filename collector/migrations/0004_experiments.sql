-- Page experiments: an experiment_exposed event's experiment, variant and the variant's
-- position (0 is the control), in typed columns for the results (experiments.rs).
ALTER TABLE events ADD COLUMN experiment TEXT;
ALTER TABLE events ADD COLUMN variant TEXT;
ALTER TABLE events ADD COLUMN variant_index BIGINT;
CREATE INDEX events_experiments ON events (site, experiment) WHERE experiment IS NOT NULL;
