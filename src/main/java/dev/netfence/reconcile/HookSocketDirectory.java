package dev.netfence.reconcile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;

/**
 * Whether the hook's socket may be served from the directory it is asked for, and whom it trusts:
 * the directory must belong to netfence's own user (or root) and be writable by nobody else, and
 * every component of the path to it, as written and as resolved, must belong to one of them, with
 * no directory on the way that group or others may write without its sticky bit; the users trusted
 * are netfence's own and root ({@link #trusted}). Whoever could write any of those could put a
 * socket of their own where the hook looks, and the hook would take that socket's answer for
 * netfence's. Apart from {@link HookServer} because these are checks of the file system made at
 * start, before anything is bound in the directory (and once again after it is made), with their
 * own refusals; the server only serves connections on what passed them.
 */
final class HookSocketDirectory {
    private HookSocketDirectory() {}

    /**
     * Refuses a socket directory that a user other than {@code own} (or root) owns or that group or
     * others may write: whoever can write it can replace the socket with their own, and a hook that
     * connects there would take that socket's answer for netfence's.
     */
    static void requireUnsharedDirectory(Path dir, UserPrincipal own) throws IOException {
        PosixFileAttributes attributes = Files.readAttributes(dir, PosixFileAttributes.class);
        java.util.Set<PosixFilePermission> mode = attributes.permissions();
        if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException("the socket's directory " + dir + " is writable by group or others ("
                    + PosixFilePermissions.toString(mode) + "): another user could put a socket of their own"
                    + " in its place; use a directory only netfence's user can write");
        }
        if (!trusted(own).contains(attributes.owner())) {
            throw new IOException("the socket's directory " + dir + " belongs to " + attributes.owner().getName()
                    + ", not to netfence's user (" + own.getName() + ") or root: its owner could replace the socket");
        }
    }

    /**
     * Refuses a socket directory reached through a component (a directory or a symbolic link, of
     * the path as written and of the path it resolves to) that a user other than {@code trusted}
     * owns, or through a directory group or others may write without its sticky bit: that user
     * could later point the path elsewhere (a link of theirs in {@code /tmp}), and the hook would
     * ask whatever socket they put there, while netfence gave up a path it no longer holds.
     * Components not made yet are skipped (checked again once made). The directory itself must
     * also pass {@link #requireUnsharedDirectory}.
     */
    static void requireTrustedPath(Path dir, java.util.Set<UserPrincipal> trusted) throws IOException {
        Path written = dir.toAbsolutePath();
        java.util.List<Path> paths = new java.util.ArrayList<>(java.util.List.of(written));
        if (Files.exists(written)) {
            paths.add(written.toRealPath());
        }
        for (Path path : paths) {
            Path prefix = path.getRoot();
            for (Path name : path) {
                prefix = prefix.resolve(name);
                if (!Files.exists(prefix, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    return;
                }
                PosixFileAttributes a = Files.readAttributes(prefix, PosixFileAttributes.class,
                        java.nio.file.LinkOption.NOFOLLOW_LINKS);
                boolean last = prefix.equals(path); // a directory there: requireUnsharedDirectory's to judge
                if (!trusted.contains(a.owner()) && !(last && a.isDirectory())) {
                    throw new IOException("the socket's path goes through " + prefix + ", which belongs to "
                            + a.owner().getName() + ", not to netfence's user or root: its owner could point the path"
                            + " at a socket of their own");
                }
                int mode = (Integer) Files.getAttribute(prefix, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
                if (!last && a.isDirectory() && (mode & 022) != 0 && (mode & 01000) == 0) {
                    throw new IOException("the socket's path goes through " + prefix + ", which group or others may"
                            + " write without its sticky bit: another user could rename what follows it");
                }
            }
        }
    }

    /** {@code own} and root, where the system names a root user. */
    static java.util.Set<UserPrincipal> trusted(UserPrincipal own) {
        try {
            UserPrincipal root = java.nio.file.FileSystems.getDefault().getUserPrincipalLookupService()
                    .lookupPrincipalByName("root");
            return root.equals(own) ? java.util.Set.of(own) : java.util.Set.of(own, root);
        } catch (IOException e) { // no user named root here
            return java.util.Set.of(own);
        }
    }
}
