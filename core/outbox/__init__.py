"""The outbox: the event catalogue, `record_event`, the subscriber registry, the stored events
and the log of the emails they caused."""
