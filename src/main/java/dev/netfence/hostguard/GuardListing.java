package dev.netfence.hostguard;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads {@code nft list table netdev netfence} text back into its chains: name, the comment
 * netfence wrote (or null), the devices the chain is bound to and its rule lines (stripped, as
 * nft prints them). The text form is read because nft 1.0.6's JSON listing leaves out a netdev
 * chain's devices and comment.
 */
public final class GuardListing {
    private static final Pattern CHAIN = Pattern.compile("^\\s*chain (\\S+) \\{\\s*$");
    private static final Pattern COMMENT = Pattern.compile("^\\s*comment \"([^\"]*)\"\\s*$");
    private static final Pattern DEVICE = Pattern.compile("device \"?([^\";\\s]+)\"?");
    private static final Pattern DEVICES = Pattern.compile("devices = \\{ ([^}]*) \\}");

    private GuardListing() {}

    /** A chain of the host table as listed. */
    public record Chain(String name, String comment, List<String> devices, List<String> rules) {
        public Chain {
            devices = List.copyOf(devices);
            rules = List.copyOf(rules);
        }
    }

    public static List<Chain> parse(String text) {
        List<Chain> chains = new ArrayList<>();
        String name = null;
        String comment = null;
        List<String> devices = new ArrayList<>();
        List<String> rules = new ArrayList<>();
        for (String line : text.split("\n")) {
            Matcher chain = CHAIN.matcher(line);
            if (chain.matches()) {
                name = chain.group(1);
                comment = null;
                devices = new ArrayList<>();
                rules = new ArrayList<>();
                continue;
            }
            if (name == null) {
                continue;
            }
            String trimmed = line.strip();
            Matcher c = COMMENT.matcher(line);
            if (c.matches()) {
                comment = c.group(1);
            } else if (trimmed.startsWith("type ")) {
                Matcher many = DEVICES.matcher(trimmed);
                if (many.find()) {
                    for (String d : many.group(1).split(",")) {
                        devices.add(d.strip().replace("\"", ""));
                    }
                } else {
                    Matcher one = DEVICE.matcher(trimmed);
                    if (one.find()) {
                        devices.add(one.group(1));
                    }
                }
            } else if (trimmed.equals("}")) {
                chains.add(new Chain(name, comment, devices, rules));
                name = null;
            } else if (!trimmed.isEmpty()) {
                rules.add(trimmed);
            }
        }
        return chains;
    }
}
