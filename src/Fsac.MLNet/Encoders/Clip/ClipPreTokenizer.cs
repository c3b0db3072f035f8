using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>
/// CLIP's pre-tokeniser: the matches, in order, of
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// (case-insensitive); white space between matches is dropped. Written as a scanner over Unicode scalar
/// values rather than a .NET <see cref="System.Text.RegularExpressions.Regex"/>, whose <c>\p{L}</c> sees
/// the two UTF-16 halves of a letter outside the Basic Multilingual Plane as non-letters, unlike
/// Python's <c>regex</c> module that OpenCLIP uses.
/// </summary>
internal sealed class ClipPreTokenizer : PreTokenizer
{
    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];
    private readonly string[] _specialTokens;

    /// <summary>Creates the pre-tokeniser; <paramref name="specialTokens"/> are matched whole before anything else.</summary>
    public ClipPreTokenizer(IEnumerable<string> specialTokens) => _specialTokens = specialTokens.ToArray();

    /// <inheritdoc/>
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => PreTokenize(text.AsSpan());

    /// <inheritdoc/>
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int, int)>();
        int i = 0;
        while (i < text.Length)
        {
            int length = MatchAt(text[i..]);
            if (length > 0)
            {
                pieces.Add((i, length));
                i += length;
            }
            else
            {
                i += Next(text[i..], out _); // white space: not part of any match
            }
        }
        return pieces;
    }

    private int MatchAt(ReadOnlySpan<char> s)
    {
        foreach (var special in _specialTokens)
            if (s.StartsWith(special, StringComparison.OrdinalIgnoreCase)) return special.Length;
        foreach (var contraction in Contractions)
            if (s.StartsWith(contraction, StringComparison.OrdinalIgnoreCase)) return contraction.Length;

        int first = Next(s, out var kind);
        switch (kind)
        {
            case Kind.Letter: return first + RunLength(s[first..], Kind.Letter);
            case Kind.Number: return first;
            case Kind.Other: return first + RunLength(s[first..], Kind.Other);
            default: return 0;
        }
    }

    private static int RunLength(ReadOnlySpan<char> s, Kind kind)
    {
        int n = 0;
        while (n < s.Length)
        {
            int used = Next(s[n..], out var k);
            if (k != kind) break;
            n += used;
        }
        return n;
    }

    /// <summary>Classifies the scalar value at the start of <paramref name="s"/>; returns its UTF-16 length.</summary>
    private static int Next(ReadOnlySpan<char> s, out Kind kind)
    {
        if (Rune.DecodeFromUtf16(s, out var rune, out int used) != OperationStatus.Done)
        {
            kind = Kind.Other; // a lone surrogate is neither letter, number nor space
            return Math.Max(used, 1);
        }
        kind = Rune.IsWhiteSpace(rune) ? Kind.Space : Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Number,
            _ => Kind.Other,
        };
        return used;
    }

    private enum Kind { Space, Letter, Number, Other }
}
