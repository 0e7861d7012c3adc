-- The launch URL of a SMART app: where the chart sends the browser, with iss and
-- launch, when a clinician starts the app for a patient (an EHR launch). Empty for
-- clients that are not launched from the chart.
ALTER TABLE auth_clients ADD COLUMN launch_url TEXT NOT NULL DEFAULT '';
