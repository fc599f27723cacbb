-- An approved request reveals one checkout. Two repeat calls racing on one request
-- both find it unlinked and both insert a checkout; the one that links second now
-- fails as a whole (its checkout with it) and is answered as waiting, and its next
-- call finds the request linked.
CREATE TRIGGER checkout_requests_link_once BEFORE UPDATE OF access_id ON checkout_requests
WHEN OLD.access_id IS NOT NULL AND NEW.access_id IS NOT OLD.access_id
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: checkout_requests.access_id');
END;
