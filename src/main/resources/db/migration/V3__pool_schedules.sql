-- Spare targets by weekday and time of day (in the pool's time zone), predictive pre-warming per pool, and the
-- arrivals per 15-minute slot the prediction learns from. Written to run unchanged on PostgreSQL and H2.
alter table pool add column prewarm boolean default false not null;

create table pool_schedule (
    pool_id varchar(63) not null references pool (id) on delete cascade,
    list_index integer not null,
    days varchar(32) not null,
    starts_at varchar(5) not null,
    ends_at varchar(5) not null,
    spare integer not null,
    primary key (pool_id, list_index)
);

-- sessions opened per pool and 15-minute slot (slot_start is UTC, aligned to 15 minutes); rows older than the
-- forecast looks back are deleted by the broker
create table login_count (
    pool_id varchar(63) not null,
    slot_start timestamp with time zone not null,
    arrivals integer not null,
    primary key (pool_id, slot_start)
);
