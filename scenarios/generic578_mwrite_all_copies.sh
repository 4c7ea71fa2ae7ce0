# generic/578 ("mwrite all copies of a shared block", fstests 22b06b01), as one
# xfs_io process: file1 holds 256k of 'a'; file2..4 are cp --reflink copies; file5..8
# get file1's extent at offsets 64k, 128k, 192k, 256k. All eight files are mapped
# MAP_SHARED rw and read-faulted (so one pmem page sits in several mappings at
# different offsets), then 12 ranges of 337 bytes are written through the mappings
# with 0x62+i and msynced. Each file must change only where it was written;
# the md5s are generic/578.out's golden values, before and after remount.
xfs_io -f -c "pwrite -S 0x61 0 256k" -c fsync /mnt/file1
cp --reflink=always /mnt/file1 /mnt/file2
cp --reflink=always /mnt/file1 /mnt/file3
cp --reflink=always /mnt/file1 /mnt/file4
xfs_io -f -c "reflink /mnt/file1 0 64k 256k" /mnt/file5
xfs_io -f -c "reflink /mnt/file1 0 128k 256k" /mnt/file6
xfs_io -f -c "reflink /mnt/file1 0 192k 256k" /mnt/file7
xfs_io -f -c "reflink /mnt/file1 0 256k 256k" /mnt/file8
remount
md5sum /mnt/file1 /mnt/file2 /mnt/file3 /mnt/file4 /mnt/file5 /mnt/file6 /mnt/file7 /mnt/file8
xfs_io -c "mmap -rw 0 262144" -c "mread 0 262144" -c close -c "open /mnt/file2" -c "mmap -rw 0 262144" -c "mread 0 262144" -c close -c "open /mnt/file3" -c "mmap -rw 0 262144" -c "mread 0 262144" -c close -c "open /mnt/file4" -c "mmap -rw 0 262144" -c "mread 0 262144" -c close -c "open /mnt/file5" -c "mmap -rw 0 327680" -c "mread 0 327680" -c close -c "open /mnt/file6" -c "mmap -rw 0 393216" -c "mread 0 393216" -c close -c "open /mnt/file7" -c "mmap -rw 0 458752" -c "mread 0 458752" -c close -c "open /mnt/file8" -c "mmap -rw 0 524288" -c "mread 0 524288" -c "mmap 0" -c "mwrite -S 0x62 130904 337" -c "mmap 1" -c "mwrite -S 0x63 130904 337" -c "mmap 2" -c "mwrite -S 0x64 130904 337" -c "mmap 3" -c "mwrite -S 0x65 130904 337" -c "mmap 4" -c "mwrite -S 0x66 196440 337" -c "mmap 5" -c "mwrite -S 0x67 261976 337" -c "mmap 6" -c "mwrite -S 0x68 327512 337" -c "mmap 7" -c "mwrite -S 0x69 393048 337" -c "mmap 0" -c "mwrite -S 0x6a 168 337" -c "mmap 1" -c "mwrite -S 0x6b 65368 337" -c "mmap 2" -c "mwrite -S 0x6c 261367 337" -c "mmap 3" -c "mwrite -S 0x6d 196440 337" -c "mmap 0" -c "msync -s 0 262144" -c "mmap 1" -c "msync -s 0 262144" -c "mmap 2" -c "msync -s 0 262144" -c "mmap 3" -c "msync -s 0 262144" -c "mmap 4" -c "msync -s 0 327680" -c "mmap 5" -c "msync -s 0 393216" -c "mmap 6" -c "msync -s 0 458752" -c "mmap 7" -c "msync -s 0 524288" /mnt/file1
md5sum /mnt/file1 /mnt/file2 /mnt/file3 /mnt/file4 /mnt/file5 /mnt/file6 /mnt/file7 /mnt/file8
remount
md5sum /mnt/file1 /mnt/file2 /mnt/file3 /mnt/file4 /mnt/file5 /mnt/file6 /mnt/file7 /mnt/file8
for f in 1 5 8; do xfs_io -c "fiemap -v" /mnt/file$f; done
