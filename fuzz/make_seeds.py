#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/: the documented payload shapes the fuzzer starts from (the same
shapes the channel tests post), every shipped dialog and workflow file, and whole conversations
for the engine. Run from anywhere: python3 fuzz/make_seeds.py"""
import json, os, glob
HERE=os.path.dirname(os.path.abspath(__file__))
REPO=os.path.dirname(HERE)
R=os.path.join(HERE,'seeds')
def put(t, name, data):
    d=os.path.join(R,t); os.makedirs(d,exist_ok=True)
    if isinstance(data,str): data=data.encode()
    open(os.path.join(d,name),'wb').write(data)
PID="106540352242922"
def wh(value):
    return {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":value,"field":"messages"}]}]}
meta={"display_phone_number":"15550783881","phone_number_id":PID}
def msg(kind, content, ctx=None):
    m={"from":"6281234567890","id":"wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYIEIN000000000001","timestamp":"1763888400","type":kind, kind:content}
    if ctx: m["context"]={"from":"15550783881","id":ctx}
    return wh({"messaging_product":"whatsapp","metadata":meta,"contacts":[{"profile":{"name":"Pengguna"},"wa_id":"6281234567890"}],"messages":[m]})
put('whatsapp','text.json',json.dumps(msg("text",{"body":"Halo, saya ingin mengajukan rekomendasi"})))
put('whatsapp','reply.json',json.dumps(msg("text",{"body":"ya"},"wamid.PREV")))
put('whatsapp','button_reply.json',json.dumps(msg("interactive",{"type":"button_reply","button_reply":{"id":"opt-1","title":"Ya"}})))
put('whatsapp','list_reply.json',json.dumps(msg("interactive",{"type":"list_reply","list_reply":{"id":"svc-2","title":"Produk","description":"x"}})))
put('whatsapp','document.json',json.dumps(msg("document",{"caption":"kuesioner","filename":"kuesioner.pdf","mime_type":"application/pdf","sha256":"abc","id":"1003383421387256"})))
put('whatsapp','image.json',json.dumps(msg("image",{"caption":"foto","mime_type":"image/jpeg","sha256":"abc","id":"1003383421387257"})))
put('whatsapp','contacts.json',json.dumps(msg("contacts",[{"name":{"formatted_name":"Budi","first_name":"Budi"},"phones":[{"phone":"+62 812-3456-7890","wa_id":"6281234567890","type":"CELL"}]}])))
put('whatsapp','location.json',json.dumps(msg("location",{"latitude":-3.79,"longitude":102.26,"name":"BPS"})))
put('whatsapp','sticker.json',json.dumps(msg("sticker",{"mime_type":"image/webp","sha256":"x","id":"1","animated":False})))
put('whatsapp','button.json',json.dumps(msg("button",{"payload":"menu","text":"Menu"})))
st={"id":"wamid.X","status":"failed","timestamp":"1763888460","recipient_id":"6281234567890","errors":[{"code":131047,"title":"Re-engagement message","message":"m","error_data":{"details":"d"}}]}
put('whatsapp','status_failed.json',json.dumps(wh({"messaging_product":"whatsapp","metadata":meta,"statuses":[st]})))
st2=dict(st); st2["status"]="delivered"; del st2["errors"]
put('whatsapp','status_delivered.json',json.dumps(wh({"messaging_product":"whatsapp","metadata":meta,"statuses":[st2]})))
# telegram
def user(i): return {"id":i,"is_bot":False,"first_name":"Budi","language_code":"id"}
def chat(i): return {"id":i,"type":"private","first_name":"Pengguna"} if i>0 else {"id":i,"type":"supergroup","title":"PST Petugas"}
def tm(chat_id, frm, extra):
    m={"message_id":10,"date":1763888400,"chat":chat(chat_id),"from":user(frm)}; m.update(extra); return m
put('telegram','text.json',json.dumps({"update_id":1,"message":tm(111,111,{"text":"halo"})}))
put('telegram','start.json',json.dumps({"update_id":2,"message":tm(111,111,{"text":"/start","entities":[{"type":"bot_command","offset":0,"length":6}]})}))
put('telegram','group_cmd.json',json.dumps({"update_id":3,"message":tm(-1001234567890,222,{"text":"/antrian@pst_bot","entities":[{"type":"bot_command","offset":0,"length":16}]})}))
bot_msg={"message_id":9,"date":1763888400,"chat":chat(-1001234567890),"from":{"id":999,"is_bot":True,"first_name":"PST Bot","username":"pst_bot"},"text":"[ADU-2026-000001] Pesan baru"}
put('telegram','group_reply.json',json.dumps({"update_id":4,"message":tm(-1001234567890,222,{"text":"Baik, kami proses","reply_to_message":bot_msg})}))
put('telegram','document.json',json.dumps({"update_id":5,"message":tm(111,111,{"document":{"file_id":"BQAC-1","file_unique_id":"uBQAC-1","file_name":"surat.pdf","mime_type":"application/pdf","file_size":1234}})}))
put('telegram','photo.json',json.dumps({"update_id":6,"message":tm(111,111,{"photo":[{"file_id":"P1","file_unique_id":"uP1","width":90,"height":90,"file_size":1000}],"caption":"foto"})}))
put('telegram','contact.json',json.dumps({"update_id":7,"message":tm(111,111,{"contact":{"phone_number":"+6281234567890","first_name":"Budi","user_id":111}})}))
kb={"message_id":9,"date":1763888400,"chat":chat(111),"from":{"id":999,"is_bot":True,"first_name":"PST Bot","username":"pst_bot"},"text":"Pilih","reply_markup":{"inline_keyboard":[[{"text":"Ya","callback_data":"c:1:ya"}],[{"text":"Berikutnya","callback_data":"p:1"}]]}}
put('telegram','callback.json',json.dumps({"update_id":8,"callback_query":{"id":"cbq-1","from":user(111),"message":kb,"chat_instance":"-5550001","data":"c:1:ya"}}))
put('telegram','callback_page.json',json.dumps({"update_id":9,"callback_query":{"id":"cbq-2","from":user(111),"message":kb,"chat_instance":"-5550001","data":"p:1"}}))
put('telegram','edited.json',json.dumps({"update_id":10,"edited_message":dict(tm(111,111,{"text":"ubah"}),edit_date=1763888460)}))
put('telegram','sticker.json',json.dumps({"update_id":11,"message":tm(111,111,{"sticker":{"file_id":"S","file_unique_id":"uS","width":512,"height":512,"is_animated":False,"is_video":False,"type":"regular"}})}))
# sms
put('sms','json.bin',b'\x00'+json.dumps({"id":"gw-1","from":"081234567890","text":"ADU jalan rusak"}).encode())
put('sms','form.bin',b'\x01id=gw-2&from=%2B6281234567890&text=menu')
put('sms','form_bad_from.bin',b'\x01id=gw-3&from=abc&text=halo')
# email
put('email','plain.eml',"From: Budi <budi@example.go.id>\r\nTo: pst@bps.example\r\nSubject: Permohonan data\r\nMessage-ID: <m1@example.go.id>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0700\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSelamat pagi, saya ingin data kemiskinan.\r\n\r\n-- \r\nBudi\r\n")
put('email','reply.eml',"From: budi@example.go.id\r\nTo: pst@bps.example\r\nSubject: Re: [ADU-2026-000012] Pengaduan diterima\r\nMessage-ID: <m2@example.go.id>\r\nIn-Reply-To: <pstbot.ADU-2026-000012.5@bps.example>\r\nReferences: <pstbot.ADU-2026-000012@bps.example>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nTerima kasih, ini tambahan=20informasi.\r\n\r\nOn Mon, 23 Nov 2026 PST wrote:\r\n> Pengaduan Anda diterima\r\n")
put('email','attachment.eml',"From: budi@example.go.id\r\nTo: pst@bps.example\r\nSubject: =?UTF-8?B?U3VyYXQgcGVuZ2FudGFy?=\r\nMessage-ID: <m3@example.go.id>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nTerlampir surat.\r\n--b1\r\nContent-Type: application/pdf; name=\"surat.pdf\"\r\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOfCg==\r\n--b1--\r\n")
put('email','html.eml',"From: budi@example.go.id\r\nTo: pst@bps.example\r\nSubject: html\r\nMessage-ID: <m4@example.go.id>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Halo <b>PST</b></p><blockquote>lama</blockquote>\r\n--b2--\r\n")
put('email','bounce.eml',"From: MAILER-DAEMON@mx.example\r\nTo: pst@bps.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; budi@example.go.id\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--r--\r\n")
put('email','autoreply.eml',"From: budi@example.go.id\r\nTo: pst@bps.example\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <m5@example.go.id>\r\n\r\nSaya sedang cuti.\r\n")
# dialogs and workflows
for f in sorted(glob.glob(os.path.join(REPO,'dialogs/*.toml'))):
    b=os.path.basename(f)
    put('dialog',b, (b'\x01' if b=='system.toml' else b'\x00')+open(f,'rb').read())
for f in sorted(glob.glob(os.path.join(REPO,'dialogs/workflows/*.toml'))):
    put('workflow',os.path.basename(f), open(f,'rb').read())
# engine: sequences of word indexes (kind 0) and texts (kind 3)
W=["1","2","3","4","5","6","9","10","ya","tidak","yes","no","menu","batal","kembali","bantuan","bahasa","bahasa en","lewati","selesai","kirim","ubah","datasaya","hapusdata","Budi Santoso","budi@example.go.id","0812 3456 7890","+6281234567890","25/11/2026","besok jam 10","REK-2026-000001","survei","1, 3",""]
def seq(*items):
    out=[]
    for it in items:
        if isinstance(it,str) and it in W: out.append(bytes([0,W.index(it)]))
        elif isinstance(it,tuple): out.append(bytes([it[0]])+it[1].encode())
        else: out.append(b'\x03'+it.encode())
    return b'\xff'.join(out)
put('engine','guestbook.bin',seq("menu","1","ya","Budi Santoso","budi@example.go.id","0812 3456 7890","1","2","3","4","Dinas Kominfo","1","kirim"))
put('engine','complaint.bin',seq("halo","4","ya","Budi Santoso","budi@example.go.id","+6281234567890","2","Pelayanan lambat sekali","25/11/2026",(6,"bukti.pdf"),"lewati","kirim"))
put('engine','commands.bin',seq("bantuan","bahasa en","menu","kembali","batal","datasaya","hapusdata","tidak",(5,"zz"),(7,"+6281234567890")))
put('engine','status.bin',seq("menu","5","REK-2026-000001","menu","6","survei","jam buka"))
put('engine','product.bin',seq("menu","3","ya","Budi Santoso","budi@example.go.id","0812 3456 7890","1","1","1","1","BPS","1","1","2","selesai","ya"))
