-- agentcron schema 6: reserved (its number belongs to a migration of another line of work;
-- this file holds its place so that 0007 follows without a gap, and goes when that one
-- arrives).
SELECT 1;
