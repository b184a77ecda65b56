package dev.netfence.json;

import com.networknt.schema.regex.RegularExpression;
import com.networknt.schema.regex.RegularExpressionFactory;
import java.util.regex.Pattern;

/**
 * Compiles a schema's {@code pattern} with the JDK's regular expressions, with the end anchor
 * {@code $} meaning what it means in ECMA-262, which JSON Schema's patterns follow: the end of the
 * value. In a Java pattern {@code $} also matches before a final line break, so
 * {@code "^[a-z]+$"} took {@code "abc\n"}: an event's {@code containerId} or {@code netns} with a
 * trailing newline passed the schema, to fail later as a container or namespace that does not
 * match, and reached logs and the journal. Each {@code $} that is an anchor (not escaped, not in a
 * character class) becomes {@code \z}; the rest of the pattern is the JDK's as before.
 */
final class EcmaAnchors implements RegularExpressionFactory {
    static final EcmaAnchors INSTANCE = new EcmaAnchors();

    private EcmaAnchors() {}

    @Override
    public RegularExpression getRegularExpression(String regex) {
        Pattern pattern = Pattern.compile(strictEnds(regex));
        return value -> pattern.matcher(value).find();
    }

    /** {@code regex} with every end anchor {@code $} (outside a character class, unescaped) written {@code \z}. */
    static String strictEnds(String regex) {
        StringBuilder out = new StringBuilder(regex.length() + 8);
        boolean inClass = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\' && i + 1 < regex.length()) {
                out.append(c).append(regex.charAt(++i));
            } else if (inClass) {
                inClass = c != ']';
                out.append(c);
            } else if (c == '[') {
                inClass = true;
                out.append(c);
            } else {
                out.append(c == '$' ? "\\z" : String.valueOf(c));
            }
        }
        return out.toString();
    }
}
