"""`hotline demo`: all of Hotline in one process against the simulated Asterisk.

Only this package (and `hotline sim`) imports the simulator and fakeredis, so neither is
loaded by the production commands.
"""
