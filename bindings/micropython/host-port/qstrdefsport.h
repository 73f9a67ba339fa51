// qstrs this port needs that the sources do not name (none so far).
