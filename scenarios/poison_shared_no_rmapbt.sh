#oracle: MKFS_OPTS=-m reflink=1,rmapbt=0
# Memory failure on a shared DAX block of a filesystem WITHOUT rmapbt. XFS cannot
# find the owners (notify_failure returns EOPNOTSUPP), memory_failure falls back to
# mf_generic_kill_procs() -> dax_lock_folio(), which dereferences page->mapping =
# PAGE_MAPPING_DAX_SHARED (0x1): Linux 6.12 oopses (and panics here: oops=panic).
# The simulator must report the same Oops without crashing itself.
xfs_io -f -c "pwrite -S 0x30 0 4k" -c "pwrite -S 0x31 4k 4k" -c "pwrite -S 0x32 8k 4k" -c "pwrite -S 0x33 12k 4k" -c "pwrite -S 0x34 16k 4k" -c "pwrite -S 0x35 20k 4k" -c fsync /mnt/W
xfs_io -f -c "reflink /mnt/W 0 4k 4k" -c "reflink /mnt/W 4k 8k 4k" -c "reflink /mnt/W 8k 12k 4k" -c "reflink /mnt/W 12k 16k 4k" -c "reflink /mnt/W 16k 20k 4k" -c "reflink /mnt/W 20k 0 4k" /mnt/X
xfs_io -f -c "reflink /mnt/W 0 8k 4k" -c "reflink /mnt/W 4k 12k 4k" -c "reflink /mnt/W 8k 16k 4k" -c "reflink /mnt/W 12k 20k 4k" -c "reflink /mnt/W 16k 0 4k" -c "reflink /mnt/W 20k 4k 4k" /mnt/Y
xfs_io -f -c "reflink /mnt/W 0 12k 4k" -c "reflink /mnt/W 4k 16k 4k" -c "reflink /mnt/W 8k 20k 4k" -c "reflink /mnt/W 12k 0 4k" -c "reflink /mnt/W 16k 4k 4k" -c "reflink /mnt/W 20k 8k 4k" /mnt/Z
pagelab-poison -r /mnt/W:0:24k /mnt/X:0:24k /mnt/Y:0:24k /mnt/Z:0:24k -- 0:0
