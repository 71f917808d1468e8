-- The index of actions by status held every action ever recorded, though
-- the runners read only the pending and running ones and the settings page
-- the failed ones: a campaign's mass entry records each enrollment's
-- action done with its firing, and paid an index insert for a row nobody
-- looks up by status. Partial indexes hold only the rows read by status;
-- in SQLite an index ends with the rowid, so each gives (key, id) order.

-- +goose Up
DROP INDEX playbook_actions_due;
CREATE INDEX playbook_actions_pending ON playbook_actions (due_at) WHERE status = 'pending';
CREATE INDEX playbook_actions_running ON playbook_actions (due_at) WHERE status = 'running';
CREATE INDEX playbook_actions_failed ON playbook_actions (done_at) WHERE status = 'failed';

-- +goose Down
DROP INDEX playbook_actions_failed;
DROP INDEX playbook_actions_running;
DROP INDEX playbook_actions_pending;
CREATE INDEX playbook_actions_due ON playbook_actions (status, due_at);
