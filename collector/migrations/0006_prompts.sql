-- The prompts' results (prompts.rs): a prompt event's prompt; its A/B variant goes in
-- `variant`, as an experiment's does. Rows stored before have NULL and are not counted.
ALTER TABLE events ADD COLUMN prompt_id TEXT;
