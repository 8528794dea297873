-- A hypervisor being emptied (issue 11): while a row exists, the pool manager replaces the hypervisor's desktops
-- elsewhere. last_progress is the last progress summary audited, so each change is audited once.
create table hypervisor_evacuation (
    hypervisor_id varchar(63) primary key,
    started_at timestamp not null,
    started_by varchar(255),
    last_progress varchar(255),
    finished_at timestamp
);
