-- A user's role in its tenant: member, admin or super_admin.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
