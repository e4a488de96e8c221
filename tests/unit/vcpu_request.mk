# vCPU requests and kicks (core/virt/vcpu_request.c, the real code) on fake
# vCPU and requester tasks under ThreadSanitizer: no request set before an
# entry is missed by it (the checker in the fake guest), kicks only for
# entries in guest mode and once each (kicks == acknowledged exits), a STOP
# request ends every loop, no lost wake-up in vcpu_request_and_wait() or a
# vCPU blocked as on HLT (the watchdog); and the same checker rejecting
# deliberately broken copies (no re-check after the mode store, a kick
# without the cmpxchg).
UNIT_TESTS += vcpu_request
vcpu_request_SRCS = tests/unit/test_vcpu_request.c core/virt/vcpu_request.c $(SYNC_HOST_SRCS)
vcpu_request_SAN := thread
