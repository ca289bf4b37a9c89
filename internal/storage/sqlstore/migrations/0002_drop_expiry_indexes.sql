-- Every token write updated an expires_at index that only the janitor reads;
-- it was a third of the B-tree pages each token commit writes. The janitor
-- now deletes in small batches of the oldest rows, which come first in a
-- scan, so it needs no index.
DROP INDEX access_tokens_expires;
DROP INDEX refresh_tokens_expires;
