using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Fsac.MLNet.Checkpoints.Pickle;

/// <summary>
/// A pickle reader (protocols 2 to 5) that builds plain data and never executes anything: it knows only
/// the opcodes a PyTorch state dict uses, and globals resolve through <see cref="PickleGlobals"/>'s whitelist.
/// Values come out as <see cref="string"/>, <see cref="long"/> (or <see cref="BigInteger"/>), <see cref="double"/>,
/// <see cref="bool"/>, null, <c>object?[]</c> (tuple), <see cref="List{T}"/> (list),
/// <see cref="OrderedDictionary{TKey, TValue}"/> (dict, OrderedDict) and <see cref="TorchTensorRef"/>.
/// The reader is a loop over opcodes with an explicit stack, so no input makes it recurse; but what it builds may
/// nest without bound (TUPLE1 nests with a stack of one) or contain itself (through the memo), so whoever walks
/// the result must bound its own depth.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private const byte Mark = (byte)'(';
    private const byte Stop = (byte)'.';
    private const byte BinInt = (byte)'J';
    private const byte BinInt1 = (byte)'K';
    private const byte BinInt2 = (byte)'M';
    private const byte None = (byte)'N';
    private const byte BinPersId = (byte)'Q';
    private const byte Reduce = (byte)'R';
    private const byte BinUnicode = (byte)'X';
    private const byte Append = (byte)'a';
    private const byte Build = (byte)'b';
    private const byte Global = (byte)'c';
    private const byte Appends = (byte)'e';
    private const byte BinGet = (byte)'h';
    private const byte LongBinGet = (byte)'j';
    private const byte EmptyList = (byte)']';
    private const byte BinPut = (byte)'q';
    private const byte LongBinPut = (byte)'r';
    private const byte SetItem = (byte)'s';
    private const byte Tuple = (byte)'t';
    private const byte SetItems = (byte)'u';
    private const byte EmptyDict = (byte)'}';
    private const byte EmptyTuple = (byte)')';
    private const byte BinFloat = (byte)'G';
    private const byte Proto = 0x80;
    private const byte Tuple1 = 0x85;
    private const byte Tuple2 = 0x86;
    private const byte Tuple3 = 0x87;
    private const byte NewTrue = 0x88;
    private const byte NewFalse = 0x89;
    private const byte Long1 = 0x8a;
    private const byte ShortBinUnicode = 0x8c;
    private const byte BinUnicode8 = 0x8d;
    private const byte StackGlobal = 0x93;
    private const byte Memoize = 0x94;
    private const byte Frame = 0x95;

    private readonly byte[] _data;
    private readonly string _source;
    private readonly Func<object?, object> _persistentLoad;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private int _pos;
    private int _opStart;

    private RestrictedUnpickler(byte[] data, string source, Func<object?, object> persistentLoad)
    {
        _data = data;
        _source = source;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Reads the object a pickle describes.</summary>
    /// <param name="data">The pickle bytes.</param>
    /// <param name="source">File named in error messages.</param>
    /// <param name="persistentLoad">Turns a persistent id (BINPERSID) into the object it stands for.</param>
    /// <exception cref="CheckpointFormatException">The pickle is malformed, truncated, or uses an opcode or global outside the whitelist.</exception>
    public static object? Load(byte[] data, string source, Func<object?, object> persistentLoad)
        => new RestrictedUnpickler(data, source, persistentLoad).Run();

    private object? Run()
    {
        while (_pos < _data.Length)
        {
            _opStart = _pos;
            byte op = _data[_pos++];
            switch (op)
            {
                case Proto:
                    int protocol = ReadByte();
                    if (protocol is < 2 or > 5) throw Fail($"unsupported pickle protocol {protocol} (2 to 5 are read)");
                    break;
                case Frame: Read(8); break;
                case Stop: return Pop();
                case Mark: _marks.Push(_stack.Count); break;
                case EmptyDict: Push(new OrderedDictionary<object, object?>()); break;
                case EmptyList: Push(new List<object?>()); break;
                case EmptyTuple: Push(Array.Empty<object?>()); break;
                case Tuple: Push(PopToMark().ToArray()); break;
                case Tuple1: Push(PopN(1)); break;
                case Tuple2: Push(PopN(2)); break;
                case Tuple3: Push(PopN(3)); break;
                case SetItem:
                {
                    var value = Pop();
                    var key = Pop();
                    SetItemsOn(Peek(), [key, value]);
                    break;
                }
                case SetItems:
                {
                    var items = PopToMark();
                    SetItemsOn(Peek(), items);
                    break;
                }
                case Append:
                {
                    var value = Pop();
                    ListOn(Peek()).Add(value);
                    break;
                }
                case Appends:
                {
                    var items = PopToMark();
                    ListOn(Peek()).AddRange(items);
                    break;
                }
                case BinInt: Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4))); break;
                case BinInt1: Push((long)ReadByte()); break;
                case BinInt2: Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2))); break;
                case Long1: Push(ReadLong(ReadByte())); break;
                case BinFloat: Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8))); break;
                case NewTrue: Push(true); break;
                case NewFalse: Push(false); break;
                case None: Push(null); break;
                case BinUnicode: Push(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))); break;
                case ShortBinUnicode: Push(ReadString((ulong)ReadByte())); break;
                case BinUnicode8: Push(ReadString(BinaryPrimitives.ReadUInt64LittleEndian(Read(8)))); break;
                case BinPut: _memo[ReadByte()] = Peek(); break;
                case LongBinPut: _memo[BinaryPrimitives.ReadUInt32LittleEndian(Read(4))] = Peek(); break;
                case Memoize: _memo[_memo.Count] = Peek(); break;
                case BinGet: Push(MemoGet(ReadByte())); break;
                case LongBinGet: Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))); break;
                case Global:
                {
                    var module = ReadLine();
                    var name = ReadLine();
                    Push(PickleGlobals.Resolve(module, name, _source));
                    break;
                }
                case StackGlobal:
                {
                    var name = Pop() as string;
                    var module = Pop() as string;
                    if (name is null || module is null) throw Fail("STACK_GLOBAL needs two strings");
                    Push(PickleGlobals.Resolve(module, name, _source));
                    break;
                }
                case Reduce:
                {
                    var args = Pop() as object?[] ?? throw Fail("REDUCE arguments are not a tuple");
                    var callable = Pop();
                    Push(Call(callable, args));
                    break;
                }
                case Build:
                {
                    Pop();
                    // A dict's BUILD state holds Python attributes (a state dict's _metadata): not tensors.
                    if (Peek() is not OrderedDictionary<object, object?>)
                        throw Fail($"BUILD on {Describe(Peek())} is not supported");
                    break;
                }
                case BinPersId: Push(_persistentLoad(Pop())); break;
                default:
                    throw Fail($"unsupported pickle opcode 0x{op:x2} ('{(op is >= 0x20 and < 0x7f ? (char)op : '?')}'); " +
                               "only the opcodes of a plain state dict are read");
            }
        }
        throw Fail("truncated pickle: the data ends before its STOP opcode");
    }

    private object Call(object? callable, object?[] args)
    {
        switch (callable)
        {
            case PickleCallable.OrderedDict:
                if (args.Length != 0) throw Fail("collections.OrderedDict is only read when built empty");
                return new OrderedDictionary<object, object?>();
            case PickleCallable.RebuildTensorV2:
                return RebuildTensor(args);
            case PickleCallable.RebuildParameter when args.Length == 3:
                return args[0] as TorchTensorRef ?? throw Fail($"a parameter wraps {Describe(args[0])}, not a tensor");
            case PickleCallable pc:
                throw Fail($"{pc} called with {args.Length} arguments");
            default:
                throw Fail($"REDUCE on {Describe(callable)}, which is not callable");
        }
    }

    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    private TorchTensorRef RebuildTensor(object?[] args)
    {
        if (args.Length is not (6 or 7)) throw Fail($"_rebuild_tensor_v2 called with {args.Length} arguments");
        var storage = args[0] as TorchStorageRef ?? throw Fail($"_rebuild_tensor_v2 storage is {Describe(args[0])}");
        if (args[1] is not long offset) throw Fail("_rebuild_tensor_v2 offset is not an integer");
        var shape = LongTuple(args[2], "size");
        var stride = LongTuple(args[3], "stride");
        if (shape.Length != stride.Length)
            throw Fail($"tensor size has {shape.Length} dimensions but its stride {stride.Length}");
        return new TorchTensorRef(storage, offset, shape, stride);
    }

    private long[] LongTuple(object? value, string what)
    {
        if (value is not object?[] items) throw Fail($"tensor {what} is {Describe(value)}, not a tuple");
        var result = new long[items.Length];
        for (int i = 0; i < items.Length; i++)
            result[i] = items[i] is long v ? v : throw Fail($"tensor {what} holds {Describe(items[i])}");
        return result;
    }

    private void SetItemsOn(object? target, List<object?> items)
    {
        if (target is not OrderedDictionary<object, object?> dict) throw Fail($"SETITEM on {Describe(target)}");
        if (items.Count % 2 != 0) throw Fail("SETITEMS with an odd number of items");
        for (int i = 0; i < items.Count; i += 2)
            dict[items[i] ?? throw Fail("a dict key is None")] = items[i + 1];
    }

    private List<object?> ListOn(object? target) => target as List<object?> ?? throw Fail($"APPEND on {Describe(target)}");

    private object ReadLong(int n)
    {
        var bytes = Read(n);
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private string ReadString(ulong length)
    {
        if (length > (ulong)(_data.Length - _pos)) throw Fail("truncated pickle: a string runs past the end");
        try { return new UTF8Encoding(false, true).GetString(Read((int)length)); }
        catch (DecoderFallbackException e) { throw new CheckpointFormatException(_source, $"pickle: invalid UTF-8 string at byte {_opStart}.", e); }
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0) throw Fail("truncated pickle: GLOBAL name without a newline");
        var s = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    private int ReadByte()
    {
        if (_pos >= _data.Length) throw Fail("truncated pickle");
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> Read(int n)
    {
        if (n > _data.Length - _pos) throw Fail("truncated pickle");
        var span = _data.AsSpan(_pos, n);
        _pos += n;
        return span;
    }

    private object? MemoGet(long index)
        => _memo.TryGetValue(index, out var v) ? v : throw Fail($"memo entry {index} is read before it is written");

    private void Push(object? value) => _stack.Add(value);

    private object? Peek()
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw Fail("stack underflow");
        return _stack[^1];
    }

    private object? Pop()
    {
        var value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object?[] PopN(int n)
    {
        var items = new object?[n];
        for (int i = n - 1; i >= 0; i--) items[i] = Pop();
        return items;
    }

    private List<object?> PopToMark()
    {
        if (_marks.Count == 0) throw Fail("no MARK to pop to");
        int mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private CheckpointFormatException Fail(string problem)
        => new(_source, $"pickle: {problem} (opcode at byte {_opStart}).");

    /// <summary>A short Python-like name of a pickled value's type, for messages.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        string => "a str",
        long or BigInteger => "an int",
        double => "a float",
        bool => "a bool",
        object?[] => "a tuple",
        List<object?> => "a list",
        OrderedDictionary<object, object?> => "a dict",
        TorchTensorRef => "a tensor",
        TorchStorageRef => "a storage",
        TorchStorageType t => $"the class torch.{t.Name}",
        PickleCallable c => $"the callable {c}",
        _ => value.GetType().Name,
    };
}
