-- Group entitlements remember the Keycloak group they were saved for (its id survives a rename) and the result of
-- the last check against Keycloak, shown in the pool's status.
alter table pool_entitlement add column group_id varchar(64);
alter table pool_entitlement add column check_state varchar(16);
alter table pool_entitlement add column check_detail varchar(1000);
alter table pool_entitlement add column checked_at timestamp;
