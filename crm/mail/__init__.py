"""The mail intake: the hotline's mailbox (IMAP) and piped mail (HTTP) into tickets."""
