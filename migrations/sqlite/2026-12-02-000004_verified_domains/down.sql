DROP TABLE verified_domains;
