// bench-relay: the relay measured against direct TCP, socat and a Python relay.
// The harness lands in the files beside this one.
print("bench-relay: not yet implemented")
