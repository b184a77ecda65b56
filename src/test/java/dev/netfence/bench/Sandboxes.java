package dev.netfence.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The sandbox namespaces {@code scripts/bench.sh} created: one line per sandbox,
 * {@code CONTAINER_ID PID NETNS}, where PID is a sleeping process inside the namespace (and in a
 * cgroup named after the container, as a container runtime would place it).
 */
record Sandboxes(List<Sandbox> all) {
    record Sandbox(String containerId, int pid, String netns) {
        String netnsPath() {
            return "/run/netns/" + netns;
        }
    }

    static Sandboxes read(Path file) throws IOException {
        List<Sandbox> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3) {
                out.add(new Sandbox(f[0], Integer.parseInt(f[1]), f[2]));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no sandboxes listed in " + file);
        }
        return new Sandboxes(List.copyOf(out));
    }

    Sandbox forEvent(int i) {
        return all.get(i % all.size());
    }
}
