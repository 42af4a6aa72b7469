"""What drives the local stack, kept out of it: the sample world of ``events/`` and the programs that use it
(``make run``'s entry point, ``make invoke``), the load generator and the cold-start measurement of ``make bench``."""
