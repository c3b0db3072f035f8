using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>
/// CLIP's text clean-up before tokenisation, as OpenCLIP runs it without ftfy: HTML unescape twice,
/// strip, collapse every whitespace run to one space, strip, lower-case — with Python's notions of
/// whitespace (<c>str.isspace</c>) and lower case (<c>str.lower</c>).
/// </summary>
internal static class ClipTextCleaner
{
    /// <summary>Cleans <paramref name="text"/> the way OpenCLIP's <c>SimpleTokenizer</c> does before splitting it.</summary>
    public static string Clean(string text)
    {
        var unescaped = WebUtility.HtmlDecode(WebUtility.HtmlDecode(text));
        return PythonLower(CollapseWhitespace(unescaped));
    }

    /// <summary>Python's <c>str.isspace</c>: .NET's white space plus the four information separators U+001C..U+001F.</summary>
    public static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || (c >= '\u001C' && c <= '\u001F');

    private static string CollapseWhitespace(string text)
    {
        var sb = new StringBuilder(text.Length);
        bool pendingSpace = false;
        foreach (var c in text)
        {
            if (IsPythonSpace(c))
            {
                pendingSpace = sb.Length > 0;
                continue;
            }
            if (pendingSpace) sb.Append(' ');
            pendingSpace = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Python's <c>str.lower</c>: the invariant simple lower-case mapping plus the two rules of Unicode's
    /// SpecialCasing that are not language specific: U+0130 becomes "i" + U+0307, and a capital sigma
    /// that ends a word becomes the final sigma U+03C2.
    /// </summary>
    private static string PythonLower(string text)
    {
        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out int used) != OperationStatus.Done)
                sb.Append(text[i]); // a lone surrogate has no case
            else if (rune.Value == 0x0130) sb.Append("i\u0307");
            else if (rune.Value == 0x03A3) sb.Append(IsFinalSigma(text, i) ? '\u03C2' : '\u03C3');
            else sb.Append(Rune.ToLowerInvariant(rune).ToString());
            i += used;
        }
        return sb.ToString();
    }

    // Final_Sigma: a cased letter before (skipping case-ignorable characters) and none after.
    private static bool IsFinalSigma(string text, int index)
    {
        int j = index - 1;
        while (j >= 0 && IsCaseIgnorable(text[j])) j--;
        if (j < 0 || !IsCased(text[j])) return false;
        int k = index + 1;
        while (k < text.Length && IsCaseIgnorable(text[k])) k++;
        return k >= text.Length || !IsCased(text[k]);
    }

    private static bool IsCased(char c) => char.GetUnicodeCategory(c) is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(char c) => c is '\'' or '.' or ':' or '^' or '`' or '\u00B7' or '\u2018' or '\u2019' or '\u2024'
        || char.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}
