package dev.netfence.ops;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import java.net.URL;
import java.util.Locale;
import org.slf4j.LoggerFactory;

/**
 * Switches the log output between human-readable lines ({@code text}) and JSON lines
 * ({@code json}) at run time, for a {@code --log-format} flag. {@code logback.xml} reads the
 * format from the {@code netfence.log.format} property; this class sets the property and reloads
 * that file, so the flag, the property and {@code NETFENCE_LOG_FORMAT} all go through one
 * configuration.
 */
public enum LogFormat {
    TEXT, JSON;

    /** The system property (and, upper-cased with underscores, the env variable) logback reads. */
    public static final String PROPERTY = "netfence.log.format";

    /** Parses {@code text} or {@code json}, case-insensitively. */
    public static LogFormat parse(String value) {
        for (LogFormat format : values()) {
            if (format.name().equalsIgnoreCase(value.trim())) {
                return format;
            }
        }
        throw new IllegalArgumentException("log format must be text or json, was '" + value + "'");
    }

    /** The value logback.xml expects. */
    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Sets the property and reloads logback.xml so every later log line uses this format. */
    public void configure() {
        System.setProperty(PROPERTY, value());
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return; // another slf4j backend (tests may use one): nothing to reconfigure
        }
        URL config = LogFormat.class.getResource("/logback.xml");
        if (config == null) {
            throw new IllegalStateException("logback.xml is missing from the classpath");
        }
        context.reset();
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        try {
            configurator.doConfigure(config);
        } catch (JoranException e) {
            throw new IllegalStateException("cannot reload logback.xml: " + e.getMessage(), e);
        }
    }
}
