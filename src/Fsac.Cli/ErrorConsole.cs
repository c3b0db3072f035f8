using System.Text;

namespace Fsac.Cli;

/// <summary>
/// Standard error for fsac's messages: each is one plain line, never wrapped at the terminal's width or styled, so
/// that a long path stays whole and stdout carries only results (tables, CSV, JSON). The program writes to
/// <see cref="Console.Error"/>; tests pass a <see cref="StringWriter"/>.
/// </summary>
public sealed class ErrorConsole(TextWriter writer)
{
    /// <summary>Where the lines go; <see cref="ErrorReporter"/> writes stack traces here too (with --verbose).</summary>
    public TextWriter Writer { get; } = writer;

    /// <summary>Writes <c>error: </c> and <paramref name="message"/> as one line (see <see cref="OneLine"/>).</summary>
    public void Error(string message)
    {
        Writer.WriteLine("error: " + OneLine(message));
        Writer.Flush();
    }

    /// <summary>
    /// <paramref name="text"/> on one line: line breaks and tabs become one space, other control characters (a hostile
    /// file name's terminal escapes) are written as <c>\uXXXX</c>.
    /// </summary>
    public static string OneLine(string text)
    {
        var line = new StringBuilder(text.Length);
        foreach (var c in text.Trim())
        {
            if (c is '\r' or '\n' or '\t')
            {
                if (line.Length > 0 && line[^1] != ' ') line.Append(' ');
            }
            else if (char.IsControl(c)) line.Append($"\\u{(int)c:x4}");
            else line.Append(c);
        }
        return line.ToString();
    }
}
