DROP TABLE provisioning_batches;
