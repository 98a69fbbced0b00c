#!/usr/bin/python3
"""Many sessions cancelled at once, through a Tapgate forwarder (the fault suite).

Usage: cancel_storm.py CONNINFO COUNT

Opens COUNT connections with psycopg (libpq), starts `select pg_sleep(60)` on each, prints
"running" and waits for a line on stdin (the test sends it once pg_stat_activity shows every
query), then sends every cancel request at once, one thread each. Prints one JSON line:
how many queries were cancelled, how many finished or failed otherwise, and the errors.
"""

import json
import sys
import threading

import psycopg


def main() -> int:
    conninfo, count = sys.argv[1], int(sys.argv[2])
    connections = [psycopg.connect(conninfo, autocommit=True) for _ in range(count)]
    outcomes = [None] * count

    def sleep(index: int) -> None:
        try:
            connections[index].execute("select pg_sleep(60)")
            outcomes[index] = "finished"
        except psycopg.errors.QueryCanceled:
            outcomes[index] = "cancelled"
        except Exception as error:  # noqa: BLE001 - reported to the test as is
            outcomes[index] = f"error: {error}"

    sleepers = [threading.Thread(target=sleep, args=(i,)) for i in range(count)]
    for thread in sleepers:
        thread.start()
    print("running", flush=True)
    sys.stdin.readline()

    cancellers = [threading.Thread(target=c.cancel) for c in connections]
    for thread in cancellers:
        thread.start()
    for thread in cancellers + sleepers:
        thread.join()
    for connection in connections:
        connection.close()

    cancelled = sum(1 for o in outcomes if o == "cancelled")
    others = [o for o in outcomes if o != "cancelled"]
    print(json.dumps({"cancelled": cancelled, "others": others}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
