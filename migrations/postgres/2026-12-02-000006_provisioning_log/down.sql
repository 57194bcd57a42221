DROP TABLE provisioning_outcomes;
