-- Schema of the durable state: hypervisors, pools with templates and entitlements, desktop inventory, audit events.
-- Written to run unchanged on PostgreSQL and H2.
create table hypervisor (
    id varchar(63) primary key,
    driver varchar(63) not null,
    endpoint varchar(1000),
    config_json varchar(8000),
    credentials_encrypted varchar(8000),
    vcpus integer not null,
    memory_mb bigint not null,
    max_desktops integer not null,
    concurrency_limit integer not null,
    cpu_overcommit double precision not null,
    memory_overcommit double precision not null,
    maintenance boolean not null,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    version bigint not null
);

create table pool (
    id varchar(63) primary key,
    display_name varchar(255) not null,
    assignment varchar(16) not null,
    min_size integer not null,
    spare integer not null,
    max_size integer not null,
    protocols varchar(255) not null,
    desktop_vcpus integer not null,
    desktop_memory_mb bigint not null,
    idle_timeout_seconds bigint not null,
    disconnect_timeout_seconds bigint not null,
    refresh_on_logoff boolean not null,
    time_zone varchar(64),
    enabled boolean not null,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    version bigint not null
);

create table pool_template (
    id varchar(63) primary key,
    pool_id varchar(63) not null references pool (id) on delete cascade,
    hypervisor_id varchar(63) not null references hypervisor (id),
    template_ref varchar(1000) not null,
    publication integer not null,
    constraint pool_template_unique unique (pool_id, hypervisor_id)
);

create table pool_entitlement (
    pool_id varchar(63) not null references pool (id) on delete cascade,
    kind varchar(16) not null,
    name varchar(255) not null
);
create index pool_entitlement_pool on pool_entitlement (pool_id);

create table desktop (
    id varchar(36) primary key,
    pool_id varchar(63) not null,
    hypervisor_id varchar(63) not null,
    name varchar(255) not null,
    vm_ref varchar(255),
    publication integer not null,
    owner varchar(255),
    agent_secret_hash varchar(64),
    created_at timestamp with time zone,
    retired_at timestamp with time zone
);
create index desktop_pool on desktop (pool_id);

create table audit_event (
    id varchar(36) primary key,
    occurred_at timestamp with time zone not null,
    kind varchar(64) not null,
    actor varchar(255),
    pool_id varchar(63),
    desktop_id varchar(36),
    session_id varchar(36),
    detail varchar(2000)
);
create index audit_event_time on audit_event (occurred_at);
