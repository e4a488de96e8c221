# The rule that keeps the firmware's S3 scratch RAM out of the allocator.
UNIT_TESTS += firmware_scratch
firmware_scratch_SRCS := tests/unit/test_firmware_scratch.c core/mm/firmware_scratch.c
