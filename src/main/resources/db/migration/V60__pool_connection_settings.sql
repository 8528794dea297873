-- Per-pool settings of the files clients open (.rdp and .vv), by setting name; validated against
-- protocol/connection-settings.json when the pool is saved.
create table pool_rdp_setting (
    pool_id varchar(63) not null references pool (id) on delete cascade,
    name varchar(64) not null,
    setting_value varchar(16384) not null,
    primary key (pool_id, name)
);
create table pool_vv_setting (
    pool_id varchar(63) not null references pool (id) on delete cascade,
    name varchar(64) not null,
    setting_value varchar(16384) not null,
    primary key (pool_id, name)
);
