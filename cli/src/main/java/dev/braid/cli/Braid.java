package dev.braid.cli;

import dev.braid.runtime.Transport;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The one executable, {@code braid}: every role, the all-in-one demo, admin verbs.
 */
@Command(name = "braid", mixinStandardHelpOptions = true, versionProvider = Braid.Version.class,
        description = "Braid: front-end gateways near users, braided by priority into one TMP link to the site.",
        subcommands = {DemoCommand.class, RoleCommands.FrontEndCommand.class, RoleCommands.BackEndCommand.class,
                RoleCommands.RedirectorCommand.class, RoleCommands.ManagerCommand.class, CtlCommand.class,
                CommandLine.HelpCommand.class})
public final class Braid implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by {@link #main} and tests. */
    public static CommandLine commandLine() {
        return new CommandLine(new Braid())
                .registerConverter(Transport.class, Transport::parse)
                .setCaseInsensitiveEnumValuesAllowed(true);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Braid.class.getPackage().getImplementationVersion();
            return new String[] {"braid " + (v == null ? "development build" : v)};
        }
    }
}
