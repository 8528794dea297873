-- What the reconciler does with a VM that has a pool's naming but no record in the broker: ADOPT, RETIRE or IGNORE.
alter table pool add column unknown_vms varchar(16) default 'IGNORE' not null;
