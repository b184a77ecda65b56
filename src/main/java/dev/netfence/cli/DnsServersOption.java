package dev.netfence.cli;

import dev.netfence.policy.PolicyValues;
import java.net.InetAddress;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * {@code --dns-servers IP[,IP...]} of {@code plan} and {@code apply}, parsed exactly as
 * {@code netfence run} parses it: address literals only (never a hostname), at most 16, the
 * same messages as a policy's {@code dnsServers}; a bad value is a usage error.
 */
final class DnsServersOption {
    private DnsServersOption() {}

    /** The addresses of {@code value} (null: none). */
    static List<InetAddress> parse(CommandLine commandLine, String value) {
        if (value == null) {
            return List.of();
        }
        PolicyValues.Parsed<List<InetAddress>> parsed = PolicyValues.dnsServerList(value.strip());
        if (!parsed.ok()) {
            throw new ParameterException(commandLine, "invalid value for --dns-servers: " + parsed.error());
        }
        return parsed.value();
    }
}
