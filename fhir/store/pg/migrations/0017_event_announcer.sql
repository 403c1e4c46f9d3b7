-- Writes announce their change-log events after they commit (fhir/store/pg/event_announcer.h),
-- no longer from inside their transaction.
--
-- The statement trigger of 0005 sent NOTIFY fovea_event in every writing transaction. A
-- transaction that has NOTIFYed takes one database-wide lock before its commit record and keeps
-- it until the commit is flushed, so concurrent writes committed one fsync after another instead
-- of sharing one (group commit). With 8 concurrent creates the median create took 9.1 ms with
-- the trigger and 5.4 ms without (docs/PERFORMANCE.md, "Writes no longer take turns at commit").
--
-- Every Fovea writer now sends the NOTIFY itself, after COMMIT, from a connection of its own
-- (PgResourceStore). A node still running an older version writes events that nobody
-- announces; the matcher finds them at its next poll (every 250 ms), so nothing is lost.
DROP TRIGGER IF EXISTS event_notify ON event;
DROP FUNCTION IF EXISTS fovea_notify_event();
