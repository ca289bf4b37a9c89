-- Client options become typed (audience, client_credentials_refresh) in the
-- same JSON column. The conversion of each row, which refuses options this
-- build does not know, runs in Go after this statement (see migrate.go).
UPDATE clients SET dialect_options = '{}' WHERE dialect_options IN ('', 'null');
