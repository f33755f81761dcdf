package dev.braid.redirector;

/**
 * A DNS message whose header was readable but whose body was not: answered FORMERR with the
 * header's ID. Thrown by {@link MessageReader} only; carries no stack trace, as it is expected input.
 */
final class MalformedMessageException extends Exception {

    MalformedMessageException(String message) {
        super(message, null, false, false);
    }
}
