package dev.netfence.iptables;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reads the filter table out of {@code iptables-save} / {@code ip6tables-save} output (nft or
 * legacy; comment and warning lines ignored) into a {@link FilterState}: the owned chains'
 * declarations and rule lines, and the OUTPUT / INPUT rule lines that hold the hooks. Lines are
 * kept verbatim (trailing whitespace trimmed) so the verifier can compare them exactly. Output
 * without a filter table yields {@link FilterState#empty()}. Pure and thread-safe.
 */
public final class SaveParser {
    public FilterState parse(String iptablesSaveOutput) {
        Objects.requireNonNull(iptablesSaveOutput, "iptablesSaveOutput");
        boolean inFilter = false;
        boolean outExists = false;
        boolean inExists = false;
        List<String> out = new ArrayList<>();
        List<String> in = new ArrayList<>();
        List<String> output = new ArrayList<>();
        List<String> input = new ArrayList<>();
        for (String raw : iptablesSaveOutput.split("\n", -1)) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("*")) {
                inFilter = line.equals("*filter");
                continue;
            }
            if (!inFilter) {
                continue;
            }
            if (line.equals("COMMIT")) {
                inFilter = false;
            } else if (line.startsWith(":")) {
                String chain = line.substring(1).split(" ", 2)[0];
                outExists |= chain.equals(RestoreRenderer.OUT_CHAIN);
                inExists |= chain.equals(RestoreRenderer.IN_CHAIN);
            } else if (line.startsWith("-A ")) {
                String chain = line.substring(3).split(" ", 2)[0];
                switch (chain) {
                    case RestoreRenderer.OUT_CHAIN -> out.add(line);
                    case RestoreRenderer.IN_CHAIN -> in.add(line);
                    case "OUTPUT" -> output.add(line);
                    case "INPUT" -> input.add(line);
                    default -> { }
                }
            }
        }
        return new FilterState(outExists, inExists, out, in, output, input);
    }
}
