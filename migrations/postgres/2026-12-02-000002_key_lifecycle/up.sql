-- Who issued a key: the issuing key's id, or "system" for init.
ALTER TABLE api_keys ADD COLUMN created_by TEXT COLLATE "C" NOT NULL DEFAULT 'system';
