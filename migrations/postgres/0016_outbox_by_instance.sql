-- The mail one instance sent, newest first: what its request view's
-- Communication tab lists with each mail's delivery state.
CREATE INDEX outbox_by_instance ON outbox (instance_id, created_at);
