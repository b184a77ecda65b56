package dev.netfence.core;

/**
 * Where an enforcement wrote: the pid the container's network namespace was pinned through and
 * that namespace's identity (device and inode of its nsfs file). The reconciler keeps it with the
 * container and acts on the namespace again only while that pid is still in it, so a container
 * that died (and a pid that was reused) is released rather than written to.
 */
public record EnforcementTarget(int pid, long netnsDevice, long netnsInode) {
    public EnforcementTarget {
        if (pid <= 1) {
            throw new IllegalArgumentException("pid must be > 1, was: " + pid);
        }
    }
}
