DROP TABLE api_keys; DROP TABLE memberships; DROP TABLE "groups"; DROP TABLE user_emails; DROP TABLE users; DROP TABLE tenants;
