-- SMART EHR launch (docs/SECURITY.md): a launch may put an Encounter in context beside the
-- patient; authorization codes and refresh tokens carry it to every token they yield.
ALTER TABLE auth_code ADD COLUMN encounter text NOT NULL DEFAULT '';
ALTER TABLE auth_refresh_token ADD COLUMN encounter text NOT NULL DEFAULT '';
