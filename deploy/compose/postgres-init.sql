-- Run once by the postgres image, when its volume is new: Rasa's tracker store
-- (TRACKER_DB_URL) gets a database of its own beside the order database
-- (POSTGRES_DB=shopmate, DATABASE_URL).
CREATE DATABASE shopmate_tracker OWNER shopmate;
